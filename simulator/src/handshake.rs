//! Opening the WebSocket: URL, subprotocol offer, HTTP Basic credentials, and the small buffers
//! that let one process hold thousands of simulated chargers.

use std::net::{IpAddr, SocketAddr};

use base64::Engine;
use std::sync::Arc;
use tokio::net::{TcpSocket, TcpStream};

use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::{AUTHORIZATION, SEC_WEBSOCKET_PROTOCOL};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Error as WsError};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::config::ChargerConfig;
use crate::error::SimError;

pub(crate) type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// OCPP messages are small: 64 KiB is plenty, and a 4 KiB read buffer instead of tungstenite's
/// 128 KiB default is what keeps thousands of idle connections cheap.
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(256 * 1024)
        .max_message_size(Some(64 * 1024))
        .max_frame_size(Some(64 * 1024))
}

/// Connects to `cfg.endpoint()`, optionally from a given local address (the load mode spreads
/// connections over several loopback addresses to get past the ephemeral-port limit).
pub(crate) async fn open(
    cfg: &ChargerConfig,
    local_addr: Option<IpAddr>,
) -> Result<WsStream, SimError> {
    let endpoint = cfg.endpoint();
    let mut request = endpoint
        .as_str()
        .into_client_request()
        .map_err(|e| SimError::Config(format!("{endpoint}: {e}")))?;
    let tls = match request.uri().scheme_str() {
        Some("ws") => None,
        Some("wss") => Some(tls_connector(cfg)?),
        _ => {
            return Err(SimError::Config(format!(
                "{endpoint}: the URL must start with ws:// or wss://"
            )));
        }
    };
    let headers = request.headers_mut();
    if !cfg.subprotocols.is_empty() {
        let offer = HeaderValue::from_str(&cfg.subprotocols.join(", "))
            .map_err(|e| SimError::Config(format!("subprotocols: {e}")))?;
        headers.insert(SEC_WEBSOCKET_PROTOCOL, offer);
    }
    if let Some(password) = &cfg.basic_auth_password {
        // Security profile 1: the Basic user is the charge point id as it is, not percent-encoded.
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{password}", cfg.id));
        let value = HeaderValue::from_str(&format!("Basic {credentials}"))
            .map_err(|e| SimError::Config(format!("basic auth: {e}")))?;
        headers.insert(AUTHORIZATION, value);
    }

    let host = request.uri().host().unwrap_or_default().to_string();
    let default_port = if tls.is_some() { 443 } else { 80 };
    let port = request.uri().port_u16().unwrap_or(default_port);
    let stream = connect_tcp(&host, port, local_addr).await?;
    let (ws, _response) =
        tokio_tungstenite::client_async_tls_with_config(request, stream, Some(ws_config()), tls)
            .await
            .map_err(handshake_error)?;
    Ok(ws)
}

/// TLS for `wss://` (security profile 2): the public web roots plus `cfg.tls_root_pem`.
fn tls_connector(cfg: &ChargerConfig) -> Result<Connector, SimError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(pem) = &cfg.tls_root_pem {
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|e| SimError::Config(format!("tls root: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| SimError::Config(format!("tls root: {e}")))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SimError::Config(format!("tls: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Connector::Rustls(Arc::new(config)))
}

async fn connect_tcp(
    host: &str,
    port: u16,
    local_addr: Option<IpAddr>,
) -> Result<TcpStream, SimError> {
    let refused = |message: String| SimError::Handshake {
        status: None,
        message,
    };
    // URIs carry IPv6 hosts in brackets; the resolver wants them bare.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addr: SocketAddr = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|e| refused(format!("cannot resolve {host}: {e}")))?
        .next()
        .ok_or_else(|| refused(format!("{host} has no address")))?;
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| refused(format!("socket: {e}")))?;
    if let Some(local) = local_addr {
        socket
            .bind(SocketAddr::new(local, 0))
            .map_err(|e| refused(format!("bind {local}: {e}")))?;
    }
    let stream = socket
        .connect(addr)
        .await
        .map_err(|e| refused(format!("connect {addr}: {e}")))?;
    // OCPP is request/response with small frames: don't let Nagle hold them back.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

fn handshake_error(error: WsError) -> SimError {
    match error {
        WsError::Http(response) => {
            let status = response.status();
            let body = response
                .body()
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            SimError::Handshake {
                status: Some(status.as_u16()),
                message: format!("server answered {status} {body}")
                    .trim_end()
                    .to_string(),
            }
        }
        // The upgrade itself succeeded (101) but the subprotocol answer is unacceptable: none
        // chosen although we offered some, one chosen that we did not offer, or one chosen when
        // we offered none.
        WsError::Protocol(tungstenite::error::ProtocolError::SecWebSocketSubProtocolError(e)) => {
            SimError::Handshake {
                status: Some(101),
                message: format!("subprotocol negotiation failed: {e}"),
            }
        }
        other => SimError::Handshake {
            status: None,
            message: other.to_string(),
        },
    }
}
