// `kubectl get` columns of a custom resource: Name, then the version's additionalPrinterColumns
// (each a JSONPath into the object; a date shown as an age, as kube-apiserver shows it), or Name
// and Age when it declares none.
import type { CustomResourceColumn } from '../../shared/api/apiextensions.js';
import { age } from '../../shared/duration.js';
import { JsonPathTemplate } from '../../shared/jsonpath.js';
import { ageCol, col, nameCol, type Column } from '../http/table.js';

/** A column's cell: null where the path finds nothing or a value of another type, as kube-apiserver sends it. */
function cellOf(c: CustomResourceColumn, value: unknown): string | number | boolean | null {
  if (value === undefined || value === null) return null;
  switch (c.type) {
    case 'integer':
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date':
      return typeof value === 'string' ? age(value) : null;
    default:
      return typeof value === 'string' ? value : JSON.stringify(value);
  }
}

export function printerColumns(declared: readonly CustomResourceColumn[] | undefined): Column[] {
  if (declared === undefined || declared.length === 0) return [nameCol, ageCol];
  return [
    nameCol,
    ...declared.map((c) => {
      const path = new JsonPathTemplate(`{${c.jsonPath}}`);
      return col(c.name, (obj) => cellOf(c, path.values(obj)[0]), {
        // Validated as one of PRINTER_COLUMN_TYPES; a date's cell is its age, as kube-apiserver sends it.
        type: c.type as Column['type'],
        format: c.format ?? '',
        description: c.description ?? c.name,
        priority: c.priority ?? 0,
      });
    }),
  ];
}
