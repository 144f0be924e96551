//! The sandbox's PKI: one certificate authority made at start, and a leaf certificate for the
//! loopback names signed by it, as an EKS cluster has (its CA in `certificateAuthority.data`, its
//! API server presenting a leaf). rustls refuses a self-signed CA used directly as a server
//! certificate, hence the two levels.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use time::{Duration, OffsetDateTime};

/// Why the PKI could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("generating the {what}: {source}")]
    Generate {
        what: &'static str,
        #[source]
        source: rcgen::Error,
    },
    #[error("building the TLS server config: {0}")]
    Tls(#[from] rustls::Error),
}

/// The names the leaf certificate is valid for: every sandbox server listens on loopback.
pub const LEAF_NAMES: [&str; 3] = ["127.0.0.1", "::1", "localhost"];

/// A CA and one leaf certificate (for [`LEAF_NAMES`]) signed by it.
pub struct Pki {
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    leaf_der: CertificateDer<'static>,
    leaf_key_der: Vec<u8>,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key stays out of logs.
        f.debug_struct("Pki").field("ca_pem", &self.ca_pem).finish()
    }
}

impl Pki {
    /// Generates a fresh CA and a leaf for the loopback names, valid from a day ago for a year
    /// (the simulated clock may run ahead of real time).
    pub fn generate() -> Result<Self, PkiError> {
        let (ca_params, ca_key) = ca_params_and_key()?;
        let ca_cert = ca_params
            .self_signed(&ca_key)
            .map_err(|source| PkiError::Generate {
                what: "CA certificate",
                source,
            })?;
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf_key = generate_key("leaf key")?;
        let leaf_cert = leaf_params()?
            .signed_by(&leaf_key, &issuer)
            .map_err(|source| PkiError::Generate {
                what: "leaf certificate",
                source,
            })?;
        Ok(Pki {
            ca_pem: ca_cert.pem(),
            ca_der: ca_cert.der().clone(),
            leaf_der: leaf_cert.der().clone(),
            leaf_key_der: leaf_key.serialize_der(),
        })
    }

    /// The CA certificate in PEM, as EKS returns it (base64 of this in
    /// `certificateAuthority.data`).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The CA certificate in DER (for a client's root store).
    pub fn ca_der(&self) -> &CertificateDer<'static> {
        &self.ca_der
    }

    /// The leaf certificate in DER.
    pub fn leaf_der(&self) -> &CertificateDer<'static> {
        &self.leaf_der
    }

    /// A rustls server config presenting the leaf and the CA (the chain), offering HTTP/1.1 by
    /// ALPN (the sandbox servers speak HTTP/1.1; clients that prefer HTTP/2 fall back to it).
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, PkiError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.leaf_key_der.clone()));
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![self.leaf_der.clone(), self.ca_der.clone()], key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

fn generate_key(what: &'static str) -> Result<KeyPair, PkiError> {
    KeyPair::generate().map_err(|source| PkiError::Generate { what, source })
}

fn validity(params: &mut CertificateParams) {
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(365);
}

fn ca_params_and_key() -> Result<(CertificateParams, KeyPair), PkiError> {
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "sandbox-kubernetes-ca");
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    validity(&mut params);
    Ok((params, generate_key("CA key")?))
}

fn leaf_params() -> Result<CertificateParams, PkiError> {
    let names: Vec<String> = LEAF_NAMES.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).map_err(|source| PkiError::Generate {
        what: "leaf subject alternative names",
        source,
    })?;
    params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    validity(&mut params);
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_pem_is_a_certificate_and_server_config_builds() {
        let pki = Pki::generate().expect("pki");
        assert!(pki.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        let parsed: Vec<_> = CertificateDer::pem_slice_iter(pki.ca_pem().as_bytes())
            .collect::<Result<_, _>>()
            .expect("pem parses");
        assert_eq!(parsed, vec![pki.ca_der().clone()]);
        assert_ne!(pki.ca_der(), pki.leaf_der());
        let config = pki.server_config().expect("server config");
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn leaf_verifies_against_the_ca_for_loopback_names() {
        use rustls::client::danger::ServerCertVerifier;
        use rustls::pki_types::{ServerName, UnixTime};
        let pki = Pki::generate().expect("pki");
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.ca_der().clone()).expect("root");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier =
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("verifier");
        for name in LEAF_NAMES {
            let server_name = ServerName::try_from(name).expect("name");
            verifier
                .verify_server_cert(pki.leaf_der(), &[], &server_name, &[], UnixTime::now())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let other = ServerName::try_from("example.com").expect("name");
        assert!(verifier
            .verify_server_cert(pki.leaf_der(), &[], &other, &[], UnixTime::now())
            .is_err());
    }
}
