//! Reading response bodies as a stream, with a cap.
//!
//! A body is never buffered past its cap: an AMS (or a proxy in front of it)
//! that answers with a huge or endless body costs at most `limit` bytes of
//! memory, and the connection is dropped as soon as the cap is passed.

use reqwest::Response;

/// Why a capped read stopped.
#[derive(Debug)]
pub enum BodyError {
    /// The body is larger than the cap. `prefix` holds the first bytes read
    /// (for an excerpt); `declared` is the Content-Length when there was one.
    TooLarge { limit: u64, declared: Option<u64>, prefix: Vec<u8> },
    /// The connection failed or timed out while reading.
    Read(reqwest::Error),
}

/// Reads the whole body, refusing one larger than `limit` bytes. A declared
/// Content-Length over the cap is refused before reading anything.
pub async fn read_capped(res: &mut Response, limit: u64) -> Result<Vec<u8>, BodyError> {
    let declared = res.content_length();
    if declared.is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge { limit, declared, prefix: Vec::new() });
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(limit).min(1 << 20) as usize);
    while let Some(chunk) = res.chunk().await.map_err(BodyError::Read)? {
        if body.len() as u64 + chunk.len() as u64 > limit {
            let room = (limit as usize).saturating_sub(body.len());
            body.extend_from_slice(&chunk[..room.min(chunk.len())]);
            body.truncate(4096);
            return Err(BodyError::TooLarge { limit, declared, prefix: body });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads at most `limit` bytes of the body and drops the rest: for the
/// excerpt of an error answer, which is never parsed.
pub async fn read_prefix(res: &mut Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < limit {
        match res.chunk().await {
            Ok(Some(chunk)) => {
                let room = limit - body.len();
                body.extend_from_slice(&chunk[..room.min(chunk.len())]);
            }
            // The status already says what went wrong; a broken error body
            // only costs the excerpt.
            Ok(None) | Err(_) => break,
        }
    }
    body
}
