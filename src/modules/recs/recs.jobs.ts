/** The recs module's job types: training (`training/`) and the registry's hourly maintenance (`registry/`). */
export const TRAIN_JOB = 'recs.train';
export const MAINTENANCE_JOB = 'recs.maintenance';
