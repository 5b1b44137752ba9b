// Every control loop cell-controller-manager can run, by its --controllers name.
import type { ControllerDefinition } from './controller.js';

export const CONTROLLERS: readonly ControllerDefinition[] = [];
