export { createIntake, type Intake, type IntakeOptions } from './server';
export { bootstrap, type BootstrapResult } from './bootstrap';
