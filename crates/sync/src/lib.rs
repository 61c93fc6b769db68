//! The sync engine: Periodic Refresh, Refresh Queue workers, Member Refresh, events, rescuer.
