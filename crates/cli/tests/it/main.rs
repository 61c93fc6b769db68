//! amsync's integration tests: one test binary, a module per capability.
//! Every test talks to real parts: the simulated AMS over HTTP on
//! 127.0.0.1, SQLite files in a temporary directory, the API over HTTP.

mod admin_client;
mod browser;
mod child;
mod helpers;
mod prometheus_text;

mod access_api;
mod admin_disable;
mod change_feed;
mod check_probes;
mod cli;
mod cli_observability;
mod communities;
mod community_rules;
mod dashboard;
mod dashboard_browser;
mod data_protection;
mod demo;
mod disable_signals;
mod input_limits;
mod node_lifecycle;
mod observability;
mod openapi;
mod packaging;
mod quarantine;
mod secret_rotation;
mod secrets;
mod security_groups;
mod service_manager;
mod site_token;
mod soak;
mod source_soap;
mod sso;
mod supervision;
mod sync_atomicity;
mod sync_crash;
mod sync_crash_listing;
mod sync_disable;
mod sync_events;
mod sync_faults;
mod sync_initial_load;
mod sync_listing;
mod sync_resume;
mod sync_watermark;
mod thresholds;
mod tidy;
mod upgrading;
