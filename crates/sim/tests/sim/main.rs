//! Integration tests of the simulated AMS over real HTTP on 127.0.0.1.
//! One test binary (modules below) keeps link times down.

mod auth;
mod contract_json;
mod contract_xml;
mod control;
mod determinism;
mod faults;
mod helpers;
mod lifecycle;
mod paging;
mod stats;
