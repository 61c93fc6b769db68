//! The commented configuration file that `amsync init` writes.

/// Every section and key with its default and what it does; alternatives
/// are commented out as `#key = value`, explanations as `# text`. It parses
/// and validates as it is (tests prove it, and that it names every key).
pub const TEMPLATE: &str = include_str!("template.toml");
