/** Key policies with separation of duties, identity policies and schedules: pure, imports only core. */
export * from './key-policy.js';
export * from './schedule.js';
