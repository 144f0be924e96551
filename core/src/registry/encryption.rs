//! Encrypted registry entries (`--txt-encrypt-enabled`): AES-256-GCM over gzip of the label
//! string (docs/reference/external-dns.md §1 "Encryption"). cutover reads them with a configured
//! key and never writes them.

use std::fmt;

use base64::Engine as _;

use super::{parse_label_text, Labels, TxtContent};

/// AES-GCM nonce size external-dns uses (docs/reference/external-dns.md §1 "Encryption": "12-byte
/// nonce").
pub const NONCE_LEN: usize = 12;
/// AES-GCM tag size.
const TAG_LEN: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncryptionError {
    #[error("TXT encryption key must be 32 raw bytes or the standard base64 of 32 bytes (got {0} bytes)")]
    KeyLength(usize),
    #[error("encrypted TXT value is not standard base64")]
    NotBase64,
    #[error("encrypted TXT value is too short ({0} bytes) to hold a 12-byte nonce and a tag")]
    TooShort(usize),
    #[error("encrypted TXT value does not open with this key (AES-256-GCM authentication failed)")]
    WrongKey,
    #[error("decrypted TXT value is not gzip: {0}")]
    NotGzip(String),
    #[error("decrypted TXT value is not an external-dns label set")]
    NotLabels,
}

/// A `--txt-aes-encryption-key`: 32 bytes. Its `Debug` never shows the bytes (the key is never
/// logged).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct EncryptionKey([u8; 32]);

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey(<redacted>)")
    }
}

impl EncryptionKey {
    /// "key 32 raw bytes or standard base64" (docs/reference/external-dns.md §1 "Encryption").
    /// Surrounding whitespace (a trailing newline of an environment variable or file) is ignored.
    pub fn parse(input: &str) -> Result<EncryptionKey, EncryptionError> {
        let trimmed = input.trim();
        if let Ok(raw) = <[u8; 32]>::try_from(trimmed.as_bytes()) {
            return Ok(EncryptionKey(raw));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(trimmed)
            .map_err(|_| EncryptionError::KeyLength(trimmed.len()))?;
        <[u8; 32]>::try_from(decoded.as_slice())
            .map(EncryptionKey)
            .map_err(|_| EncryptionError::KeyLength(decoded.len()))
    }

    fn cipher(&self) -> aes_gcm::Aes256Gcm {
        use aes_gcm::KeyInit as _;
        aes_gcm::Aes256Gcm::new(&self.0.into())
    }
}

/// Opens an encrypted registry value (the text inside the quotes): base64 → nonce ‖
/// ciphertext+tag → AES-256-GCM → gunzip → label string (docs/reference/external-dns.md §1
/// "Encryption").
pub fn decrypt_labels(text: &str, key: &EncryptionKey) -> Result<Labels, EncryptionError> {
    use aes_gcm::aead::Aead as _;
    use std::io::Read as _;
    let data = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| EncryptionError::NotBase64)?;
    if data.len() <= NONCE_LEN + TAG_LEN {
        return Err(EncryptionError::TooShort(data.len()));
    }
    let (nonce, sealed) = data.split_at(NONCE_LEN);
    let nonce = aes_gcm::Nonce::from_slice(nonce);
    let zipped = key
        .cipher()
        .decrypt(nonce, sealed)
        .map_err(|_| EncryptionError::WrongKey)?;
    let mut plain = String::new();
    flate2::read::GzDecoder::new(zipped.as_slice())
        .read_to_string(&mut plain)
        .map_err(|e| EncryptionError::NotGzip(e.to_string()))?;
    match parse_label_text(plain.trim()) {
        TxtContent::Labels(l) => Ok(l),
        _ => Err(EncryptionError::NotLabels),
    }
}

/// Seals labels as external-dns does (for tests and the local sandbox only: cutover never
/// writes encrypted entries, because its gzip bytes differ from Go's and external-dns's later
/// exact DELETE would fail — docs/reference/external-dns.md §1 "Encryption"). Returns the quoted
/// TXT value.
pub fn encrypt_labels(
    labels: &Labels,
    key: &EncryptionKey,
    nonce: [u8; NONCE_LEN],
) -> Result<String, EncryptionError> {
    use aes_gcm::aead::Aead as _;
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(labels.render_text().as_bytes())
        .and_then(|_| gz.flush())
        .map_err(|e| EncryptionError::NotGzip(e.to_string()))?;
    let zipped = gz
        .finish()
        .map_err(|e| EncryptionError::NotGzip(e.to_string()))?;
    let sealed = key
        .cipher()
        .encrypt(aes_gcm::Nonce::from_slice(&nonce), zipped.as_slice())
        .map_err(|_| EncryptionError::WrongKey)?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(format!(
        "\"{}\"",
        base64::engine::general_purpose::STANDARD.encode(out)
    ))
}
