//! The ceiling for the ratio benchmark: a hello-JSON axum server on the same TLS stack
//! (rustls, the same certificate and settings as Custodian), nothing else.

use anyhow::Context;
use axum::Json;
use axum::routing::get;
use std::sync::Arc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, cert, key, listen] = args.as_slice() else {
        anyhow::bail!("usage: custodian-hello CERT.pem KEY.pem ADDR:PORT");
    };
    let config = custodian::tls::server_config(cert.as_ref(), key.as_ref())?;
    let rustls = axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config));
    let listener = std::net::TcpListener::bind(listen).context("bind")?;
    listener.set_nonblocking(true)?;
    let app = axum::Router::new().route(
        "/hello",
        get(|| async { Json(serde_json::json!({"message": "hello"})) }),
    );
    axum_server::tls_rustls::from_tcp_rustls(listener, rustls)?
        .serve(app.into_make_service())
        .await?;
    Ok(())
}
