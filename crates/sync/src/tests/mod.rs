//! The engine's behaviour over time, on the in-memory AMS and a manual
//! clock: when scheduled jobs run, and when failed refreshes are retried
//! or given up. Nothing here sleeps: the test moves the clock and waits on
//! conditions.

mod leases;
mod retries;
mod scheduling;
