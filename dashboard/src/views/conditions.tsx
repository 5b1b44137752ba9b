// An object's conditions the way `kubectl describe` lists them: type, status, reason, message —
// a Deployment's on its detail view, an autoscaler's (AbleToScale, ScalingActive, ScalingLimited)
// where it is shown.
import type { Tone } from '../workloads.js';

export interface ConditionRow {
  type: string;
  status: string;
  reason?: string | undefined;
  message?: string | undefined;
  /** How the status reads, where the view knows. */
  tone?: Tone | undefined;
}

export function ConditionTable(props: { rows: readonly ConditionRow[]; label: string }) {
  if (props.rows.length === 0) return <p>No conditions yet.</p>;
  return (
    <table class="grid conditions" aria-label={props.label}>
      <thead>
        <tr>
          <th scope="col">Type</th>
          <th scope="col">Status</th>
          <th scope="col">Reason</th>
          <th scope="col">Message</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((c) => (
          <tr key={c.type} data-condition={c.type}>
            <td class="condition-type">{c.type}</td>
            <td class={c.tone ? `condition-status tone-${c.tone}` : 'condition-status'}>{c.status}</td>
            <td class="condition-reason">{c.reason ?? ''}</td>
            <td class="condition-message">{c.message ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
