//! The simulated AMS: serves the contract from a seed, with faults; the benchmark target.
