//! Configuration of amsync: the TOML file, environment overrides, validation.
