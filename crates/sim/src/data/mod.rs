//! Fixed pools of realistic values that generated members are drawn from:
//! international names, countries with their address and phone formats, and
//! the catalogs of communities, security groups and demographics.

pub mod catalog;
pub mod names;
pub mod places;
