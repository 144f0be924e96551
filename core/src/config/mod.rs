//! `cutover.toml`: every key of docs/design.md §8, validated in full when the function starts.
//!
//! Parsing happens in two passes, each its own module: `raw` is the file as serde reads it (unknown
//! keys refused, the key path of any type error kept), `validate` checks every cross-field rule
//! and resolves defaults into the `values` the rest of cutover uses. Every error names the key
//! path and the reason.

mod error;
mod raw;
mod traffic;
mod validate;
mod values;

pub use crate::registry::ExternalDnsVersion;
pub use error::ConfigError;
pub use values::*;

impl Config {
    /// Parses and validates a whole `cutover.toml`; `txt_encrypt_key_env` variables are read
    /// from the process environment.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse_with_env(text, &|name| std::env::var(name).ok())
    }

    /// `parse`, reading environment variables through `env` (tests pass their own lookup).
    pub fn parse_with_env(text: &str, env: &EnvLookup<'_>) -> Result<Config, ConfigError> {
        let raw = raw::parse_raw(text)?;
        validate::validate(raw, env)
    }
}

/// Looks an environment variable up by name (`None`: not set or not unicode).
pub type EnvLookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

#[cfg(test)]
mod tests;
