//! Compact, exact storage of a [`StreamSet`] in DynamoDB-sized chunks (docs/design.md §7).
//!
//! Encoding, column by column:
//! - a numeric stream is stored as scaled integers when every value has at most 9 decimals
//!   (`v = s / 10^k` exactly, bit for bit), written as zigzag varints of the first
//!   differences or, for the smooth streams (distance, altitude, speed, latlng), of the
//!   second differences (delta of delta); otherwise as raw IEEE-754 bits, so every `f64`
//!   round-trips exactly;
//! - `latlng` is two such columns (latitudes, then longitudes);
//! - `moving` is bit-packed.
//!
//! Format 2, the one written, chooses each column's difference order
//! by the order-0 entropy of its bytes and compresses the columns with zstd's optimal
//! parser (tuned level 11, see [`Zstd`]), either as one frame or one frame per column,
//! whichever is smaller (one frame wins on tiny activities, a frame per column on long
//! ones: each column's statistics differ). How a frame was made is not part of the
//! format: chunks written at level 3 by the first format 2 release decode the same.
//! Format 1 (one plain delta per column, one frame at level 9) is still read. The blob is
//! cut into chunks of at most [`CHUNK_PAYLOAD_BYTES`]. Each chunk carries a header (format version, index, count,
//! blob length, FNV-1a checksum of the blob) so a missing, truncated, duplicated or
//! corrupted chunk, or one written by a newer release, is reported as such.

use crate::hash::fnv1a64;
use crate::streams::{NumericKey, StreamSet};

/// Version of the chunk and column format this release writes; it reads this one and
/// every earlier one.
pub const FORMAT_VERSION: u8 = 2;
/// Largest payload per chunk: well under DynamoDB's 400 KB item limit, leaving room for
/// keys and attributes.
pub const CHUNK_PAYLOAD_BYTES: usize = 256 * 1024;
/// Refuse to inflate a blob beyond this (a corrupt or hostile frame must not exhaust
/// memory). The columns of [`crate::streams::MAX_SAMPLES`] samples of every stream, all
/// stored as raw `f64`, take about 33 MB.
pub const MAX_RAW_BYTES: usize = 64 * 1024 * 1024;
/// Largest expansion of any zstd frame (RLE blocks of 128 KiB from 4 bytes).
const MAX_EXPANSION: u64 = 32_768;
/// The zstd level whose parameters, tuned in [`Zstd`], make the stored frames.
const ZSTD_LEVEL: i32 = 11;
/// Format 2 blob packing: the first byte says one zstd frame or one per column.
const PACK_ONE_FRAME: u8 = 0;
const PACK_FRAME_PER_COLUMN: u8 = 1;
/// Raw column bytes above which one frame is not even tried (per-column frames win).
const ONE_FRAME_MAX_RAW: usize = 16 * 1024;
/// Column tag bit: the varints are second differences (delta of delta).
const DELTA_OF_DELTA: u8 = 0x10;
const CHUNK_MAGIC: &[u8; 3] = b"SSK";
const RAW_MAGIC: &[u8; 3] = b"SSC";
/// magic(3) + version(1) + index(2) + count(2) + blob length(4) + checksum(8)
const HEADER_BYTES: usize = 20;
const LATLNG_ID: u8 = 100;
const MOVING_ID: u8 = 101;
const RAW_F64_TAG: u8 = 0xFF;
const MAX_DECIMALS: i32 = 9;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("no stream chunks given")]
    NoChunks,
    #[error("chunk {index}: not a stream chunk (bad magic)")]
    BadMagic { index: usize },
    #[error("chunk {index}: format version {found} is newer than the {supported} this release reads")]
    UnsupportedVersion { index: usize, found: u8, supported: u8 },
    #[error("chunk {index}: truncated ({len} bytes, header needs {HEADER_BYTES})")]
    TruncatedHeader { index: usize, len: usize },
    #[error("chunks disagree: chunk {index} says {detail}")]
    Inconsistent { index: usize, detail: String },
    #[error("chunk {index} of {count} is missing")]
    MissingChunk { index: u16, count: u16 },
    #[error("chunk {index} appears twice")]
    DuplicateChunk { index: u16 },
    #[error("stream blob is {found} bytes, header says {expected}: a chunk is truncated")]
    Truncated { expected: usize, found: usize },
    #[error("stream blob checksum mismatch: a chunk is corrupt")]
    Checksum,
    #[error("stream columns do not compress: {0}")]
    Compress(String),
    #[error("stream blob does not decompress: {0}")]
    Decompress(String),
    #[error("stream columns are corrupt: {0}")]
    Corrupt(&'static str),
    #[error("stream set has {0} chunks, more than a chunk index can count")]
    TooLarge(usize),
}

/// Encodes `set` into chunks of at most [`CHUNK_PAYLOAD_BYTES`] payload each.
pub fn encode_chunks(set: &StreamSet) -> Result<Vec<Vec<u8>>, CodecError> {
    encode_chunks_sized(set, CHUNK_PAYLOAD_BYTES)
}

/// As [`encode_chunks`], with a chosen payload size (tests use tiny ones to exercise
/// chunk boundaries).
pub fn encode_chunks_sized(set: &StreamSet, payload_bytes: usize) -> Result<Vec<Vec<u8>>, CodecError> {
    let blob = Zstd::with(|zstd| {
        let pieces = encode_column_pieces(set, zstd)?;
        pack(&pieces, zstd)
    })?;
    let payload_bytes = payload_bytes.max(1);
    let count = blob.len().div_ceil(payload_bytes).max(1);
    let count16 = u16::try_from(count).map_err(|_| CodecError::TooLarge(count))?;
    let blob_len = u32::try_from(blob.len()).map_err(|_| CodecError::TooLarge(count))?;
    let checksum = fnv1a64(&blob);
    let mut pieces: Vec<&[u8]> = blob.chunks(payload_bytes).collect();
    if pieces.is_empty() {
        pieces.push(&[]);
    }
    Ok(pieces
        .into_iter()
        .enumerate()
        .map(|(i, piece)| {
            let mut chunk = Vec::with_capacity(HEADER_BYTES + piece.len());
            chunk.extend_from_slice(CHUNK_MAGIC);
            chunk.push(FORMAT_VERSION);
            chunk.extend_from_slice(&(i as u16).to_le_bytes());
            chunk.extend_from_slice(&count16.to_le_bytes());
            chunk.extend_from_slice(&blob_len.to_le_bytes());
            chunk.extend_from_slice(&checksum.to_le_bytes());
            chunk.extend_from_slice(piece);
            chunk
        })
        .collect())
}

/// The id of the stream set `chunks` encode: the blob checksum every chunk header carries,
/// in hex. Equal content gives an equal id, so a retry rewrites the same keys; different
/// content never shares keys with it. `None` for no chunks or a chunk without a header.
pub fn stream_set_id<C: AsRef<[u8]>>(chunks: &[C]) -> Option<String> {
    let head = parse_header(0, chunks.first()?.as_ref()).ok()?;
    Some(format!("{:016x}", head.checksum))
}

/// Reassembles and decodes chunks, in any order.
pub fn decode_chunks<C: AsRef<[u8]>>(chunks: &[C]) -> Result<StreamSet, CodecError> {
    let first = chunks.first().ok_or(CodecError::NoChunks)?;
    let head = parse_header(0, first.as_ref())?;
    if usize::from(head.count) > chunks.len() {
        // Fewer chunks than the header counts: name the first one missing, without
        // allocating for a count that may be corrupt.
        let mut present: Vec<u16> =
            chunks.iter().filter_map(|c| parse_header(0, c.as_ref()).ok()).map(|h| h.index).collect();
        present.sort_unstable();
        let index = (0..head.count).find(|i| present.binary_search(i).is_err()).unwrap_or(0);
        return Err(CodecError::MissingChunk { index, count: head.count });
    }
    let mut pieces: Vec<Option<&[u8]>> = vec![None; usize::from(head.count)];
    for (i, chunk) in chunks.iter().enumerate() {
        let h = parse_header(i, chunk.as_ref())?;
        if h.count != head.count || h.blob_len != head.blob_len || h.checksum != head.checksum {
            return Err(CodecError::Inconsistent {
                index: i,
                detail: format!(
                    "count {} / length {} unlike chunk 0's {} / {}",
                    h.count, h.blob_len, head.count, head.blob_len
                ),
            });
        }
        let slot = pieces.get_mut(usize::from(h.index)).ok_or_else(|| CodecError::Inconsistent {
            index: i,
            detail: format!("index {} of only {}", h.index, h.count),
        })?;
        if slot.replace(&chunk.as_ref()[HEADER_BYTES..]).is_some() {
            return Err(CodecError::DuplicateChunk { index: h.index });
        }
    }
    // Lengths come from the payloads actually present, never from the header alone: a
    // flipped bit in `blob_len` must not become a huge allocation.
    let mut found = 0usize;
    for (index, piece) in pieces.iter().enumerate() {
        found += piece.ok_or(CodecError::MissingChunk { index: index as u16, count: head.count })?.len();
    }
    if found != head.blob_len {
        return Err(CodecError::Truncated { expected: head.blob_len, found });
    }
    let mut blob = Vec::with_capacity(found);
    pieces.iter().flatten().for_each(|piece| blob.extend_from_slice(piece));
    if fnv1a64(&blob) != head.checksum {
        return Err(CodecError::Checksum);
    }
    let raw = if head.version == 1 { inflate(&blob, MAX_RAW_BYTES)? } else { unpack(&blob)? };
    decode_columns(&raw)
}

/// Format 2: the columns as one zstd frame, or a frame per column, whichever is smaller.
fn pack(pieces: &[Piece], zstd: &mut Zstd) -> Result<Vec<u8>, CodecError> {
    let mut framed = vec![PACK_FRAME_PER_COLUMN];
    put_varint(&mut framed, pieces.len() as u64);
    for piece in pieces {
        let frame = match &piece.frame {
            Some(frame) => frame.clone(),
            None => zstd.compress(&piece.raw)?,
        };
        put_varint(&mut framed, frame.len() as u64);
        framed.extend_from_slice(&frame);
    }
    // One frame can only win where a frame's own overhead (about 12 bytes a column)
    // matters: small activities. Beyond that it is not worth compressing everything twice.
    let raw_len: usize = pieces.iter().map(|p| p.raw.len()).sum();
    if raw_len > ONE_FRAME_MAX_RAW {
        return Ok(framed);
    }
    let whole = zstd.compress(&pieces.iter().flat_map(|p| p.raw.iter().copied()).collect::<Vec<u8>>())?;
    if framed.len() <= whole.len() {
        return Ok(framed);
    }
    let mut one = Vec::with_capacity(whole.len() + 1);
    one.push(PACK_ONE_FRAME);
    one.extend_from_slice(&whole);
    Ok(one)
}

/// The raw columns of a format 2 blob; every frame bounded as [`inflate`] bounds one, and
/// all of them together by [`MAX_RAW_BYTES`].
fn unpack(blob: &[u8]) -> Result<Vec<u8>, CodecError> {
    let mut r = Reader { buf: blob, pos: 0 };
    match r.byte()? {
        PACK_ONE_FRAME => inflate(&blob[1..], MAX_RAW_BYTES),
        PACK_FRAME_PER_COLUMN => {
            let frames = r.length()?;
            let mut raw = Vec::new();
            for _ in 0..frames {
                let len = usize::try_from(r.varint()?).map_err(|_| CodecError::Corrupt("frame length"))?;
                let frame = r.bytes(len)?;
                raw.extend_from_slice(&inflate(frame, MAX_RAW_BYTES - raw.len())?);
            }
            if r.pos != blob.len() {
                return Err(CodecError::Corrupt("trailing bytes after the last frame"));
            }
            Ok(raw)
        }
        _ => Err(CodecError::Corrupt("unknown blob packing")),
    }
}

/// Decompresses one zstd frame into a buffer sized from the frame's own content size,
/// refusing a frame that states none or more than `limit` (at most [`MAX_RAW_BYTES`]).
fn inflate(blob: &[u8], limit: usize) -> Result<Vec<u8>, CodecError> {
    let size = match zstd::zstd_safe::get_frame_content_size(blob) {
        Ok(Some(size)) => size,
        Ok(None) => return Err(CodecError::Decompress("frame does not state its size".into())),
        Err(_) => return Err(CodecError::Decompress("not a zstd frame".into())),
    };
    // No zstd block expands more than 32,768-fold (an RLE block: 4 bytes in, 128 KiB out),
    // so a larger claim is a lie and is refused before anything is allocated for it.
    let possible = (blob.len() as u64).saturating_mul(MAX_EXPANSION);
    if size > limit as u64 || size > possible {
        return Err(CodecError::Decompress(format!(
            "frame states {size} bytes, over the limit of {} for {} compressed bytes",
            possible.min(limit as u64),
            blob.len()
        )));
    }
    zstd::bulk::decompress(blob, size as usize).map_err(|e| CodecError::Decompress(e.to_string()))
}

struct Header {
    version: u8,
    index: u16,
    count: u16,
    blob_len: usize,
    checksum: u64,
}

fn parse_header(index: usize, chunk: &[u8]) -> Result<Header, CodecError> {
    if chunk.len() < 4 || &chunk[..3] != CHUNK_MAGIC {
        return Err(CodecError::BadMagic { index });
    }
    if chunk[3] > FORMAT_VERSION {
        return Err(CodecError::UnsupportedVersion { index, found: chunk[3], supported: FORMAT_VERSION });
    }
    if chunk.len() < HEADER_BYTES {
        return Err(CodecError::TruncatedHeader { index, len: chunk.len() });
    }
    let u16_at = |o: usize| u16::from_le_bytes([chunk[o], chunk[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes(chunk[o..o + 4].try_into().expect("4 bytes"));
    Ok(Header {
        version: chunk[3],
        index: u16_at(4),
        count: u16_at(6),
        blob_len: u32_at(8) as usize,
        checksum: u64::from_le_bytes(chunk[12..20].try_into().expect("8 bytes")),
    })
}

/// The zstd context every stored frame is made with, reused for all the frames of the
/// thread's encodes (making one costs more than compressing a small column). Level 11's
/// optimal parser (`btopt`) with the shallowest search, 6-byte minimum matches, a target
/// length of 16 and level 11's tables for inputs up to 16 KiB: the columns are varints of
/// small differences, so what pays is the entropy-aware parse of literals and short
/// repeats, not a deep match search or a wide window (edge810: 6.4 % smaller than level 3
/// at about a quarter of level 11's time). Frames decode the same whatever made them.
struct Zstd(zstd::bulk::Compressor<'static>);

thread_local! {
    /// The thread's contexts, kept between encodes: making them costs more than
    /// compressing a short activity.
    static CONTEXTS: std::cell::RefCell<Option<Zstd>> = const { std::cell::RefCell::new(None) };
}

impl Zstd {
    /// Runs `f` with this thread's contexts (made on first use).
    fn with<T>(f: impl FnOnce(&mut Zstd) -> Result<T, CodecError>) -> Result<T, CodecError> {
        CONTEXTS.with(|cell| {
            let mut slot = cell.borrow_mut();
            let zstd = match &mut *slot {
                Some(zstd) => zstd,
                empty => empty.insert(Zstd::new()?),
            };
            f(zstd)
        })
    }

    fn new() -> Result<Self, CodecError> {
        use zstd::zstd_safe::{CParameter, Strategy};
        let err = |e: std::io::Error| CodecError::Compress(e.to_string());
        let mut zstd = zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(err)?;
        for parameter in [
            CParameter::Strategy(Strategy::ZSTD_btopt),
            CParameter::SearchLog(1),
            CParameter::MinMatch(6),
            CParameter::TargetLength(16),
            CParameter::WindowLog(14),
            CParameter::HashLog(14),
            CParameter::ChainLog(15),
        ] {
            zstd.set_parameter(parameter).map_err(err)?;
        }
        Ok(Zstd(zstd))
    }

    /// A frame as stored.
    fn compress(&mut self, raw: &[u8]) -> Result<Vec<u8>, CodecError> {
        self.0.compress(raw).map_err(|e| CodecError::Compress(e.to_string()))
    }
}

/// A column written with first differences and with second differences: the one that
/// compresses smaller (second differences win on smooth streams: distance, altitude,
/// speed, position; first differences on the jumpy ones: power, heart rate, cadence),
/// judged by the bytes' order-0 entropy (the columns are mostly one-byte varints, which
/// zstd codes as literals), then compressed as stored.
fn smaller_of(zstd: &mut Zstd, column: impl Fn(bool) -> Vec<u8>) -> Result<Piece, CodecError> {
    let (first, second) = (column(false), column(true));
    let chosen = if entropy_bits(&second) < entropy_bits(&first) { second } else { first };
    let frame = zstd.compress(&chosen)?;
    Ok(Piece { raw: chosen, frame: Some(frame) })
}

/// Order-0 entropy of `bytes`, in bits: what an ideal coder of single bytes would need.
fn entropy_bits(bytes: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    bytes.iter().for_each(|&b| counts[usize::from(b)] += 1);
    let n = bytes.len() as f64;
    counts.iter().filter(|&&c| c > 0).map(|&c| f64::from(c) * (n / f64::from(c)).log2()).sum()
}

/// Raw column bytes, with their zstd frame when the choice of encoding already made it
/// (so that packing does not compress them again).
struct Piece {
    raw: Vec<u8>,
    frame: Option<Vec<u8>>,
}

impl Piece {
    fn raw(raw: Vec<u8>) -> Self {
        Piece { raw, frame: None }
    }
}

/// The uncompressed columnar form in pieces: the header with the first column, then one
/// piece per further column (each compressed on its own by format 2).
fn encode_column_pieces(set: &StreamSet, zstd: &mut Zstd) -> Result<Vec<Piece>, CodecError> {
    let mut head = Vec::with_capacity(16);
    head.extend_from_slice(RAW_MAGIC);
    head.push(FORMAT_VERSION);
    let numeric: Vec<(NumericKey, &[f64])> =
        NumericKey::ALL.into_iter().filter_map(|k| set.get(k).map(|d| (k, d))).collect();
    let channels = numeric.len() + usize::from(set.latlng.is_some()) + usize::from(set.moving.is_some());
    put_varint(&mut head, channels as u64);
    let mut pieces = vec![Piece::raw(head)];
    for (key, data) in numeric {
        let column = Column::of(data);
        pieces.push(smaller_of(zstd, |second| {
            let mut out = Vec::with_capacity(data.len() * 2);
            out.push(key as u8);
            put_varint(&mut out, data.len() as u64);
            column.write(&mut out, second);
            out
        })?);
    }
    if let Some(latlng) = &set.latlng {
        let (lat, lng): (Vec<f64>, Vec<f64>) = latlng.iter().map(|p| (p[0], p[1])).unzip();
        let (lat, lng) = (Column::of(&lat), Column::of(&lng));
        pieces.push(smaller_of(zstd, |second| {
            let mut out = Vec::with_capacity(latlng.len() * 4);
            out.push(LATLNG_ID);
            put_varint(&mut out, latlng.len() as u64);
            lat.write(&mut out, second);
            lng.write(&mut out, second);
            out
        })?);
    }
    if let Some(moving) = &set.moving {
        let mut out = Vec::with_capacity(moving.len() / 8 + 8);
        out.push(MOVING_ID);
        put_varint(&mut out, moving.len() as u64);
        for byte in moving.chunks(8) {
            out.push(byte.iter().enumerate().fold(0u8, |acc, (i, &b)| acc | (u8::from(b) << i)));
        }
        pieces.push(Piece::raw(out));
    }
    // The header travels with the first column (a frame of its own would cost more); the
    // merged piece is compressed when packed.
    if pieces.len() > 1 {
        let first = pieces.remove(1);
        pieces[0].raw.extend_from_slice(&first.raw);
    }
    Ok(pieces)
}

fn decode_columns(raw: &[u8]) -> Result<StreamSet, CodecError> {
    let mut r = Reader { buf: raw, pos: 0 };
    if r.bytes(3)? != RAW_MAGIC {
        return Err(CodecError::Corrupt("bad column magic"));
    }
    let version = r.byte()?;
    if version > FORMAT_VERSION {
        return Err(CodecError::UnsupportedVersion { index: 0, found: version, supported: FORMAT_VERSION });
    }
    let channels = r.varint()?;
    let mut set = StreamSet::default();
    for _ in 0..channels {
        let id = r.byte()?;
        let len = r.length()?;
        match id {
            LATLNG_ID => {
                let lat = r.f64_column(len)?;
                let lng = r.f64_column(len)?;
                set.latlng = Some(lat.into_iter().zip(lng).map(|(a, b)| [a, b]).collect());
            }
            MOVING_ID => {
                let bytes = r.bytes(len.div_ceil(8))?;
                set.moving = Some((0..len).map(|i| bytes[i / 8] >> (i % 8) & 1 == 1).collect());
            }
            id => {
                let key =
                    NumericKey::ALL.get(usize::from(id)).copied().ok_or(CodecError::Corrupt("unknown channel id"))?;
                set.set(key, Some(r.f64_column(len)?));
            }
        }
    }
    if r.pos != raw.len() {
        return Err(CodecError::Corrupt("trailing bytes after the last column"));
    }
    Ok(set)
}

/// A numeric column ready to write: its values as integers scaled by `10^k`, or as raw
/// `f64`s when no `k` (0..=9) represents every value exactly.
enum Column<'a> {
    Scaled { decimals: i32, values: Vec<i64> },
    Raw(&'a [f64]),
}

impl<'a> Column<'a> {
    /// The fewest decimals `k` with every value exactly `round(v·10^k)/10^k`, and the
    /// scaled values. One pass to find `k` in the common case (each value raises it until
    /// it represents that value), one to scale and check every value at it (floating point
    /// does not promise that a value exact at `k` is exact at `k + 1`: if one is not, the
    /// next `k` is tried).
    fn of(values: &'a [f64]) -> Self {
        let scaled = |v: f64, p: f64| {
            let s = (v * p).round();
            (s.abs() < 9.0e15 && ((s as i64) as f64 / p).to_bits() == v.to_bits()).then_some(s as i64)
        };
        const POW10: [f64; MAX_DECIMALS as usize + 1] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
        let mut k = 0;
        for &v in values {
            while scaled(v, POW10[k]).is_none() {
                k += 1;
                if k > MAX_DECIMALS as usize {
                    return Column::Raw(values);
                }
            }
        }
        for (decimals, &p) in POW10.iter().enumerate().skip(k) {
            if let Some(values) = values.iter().map(|&v| scaled(v, p)).collect::<Option<Vec<i64>>>() {
                return Column::Scaled { decimals: decimals as i32, values };
            }
        }
        Column::Raw(values)
    }

    /// The column's tag byte and values: zigzag varints of first or second differences,
    /// or the raw `f64`s.
    fn write(&self, out: &mut Vec<u8>, second_differences: bool) {
        match self {
            Column::Scaled { decimals, values } => {
                out.push(*decimals as u8 | if second_differences { DELTA_OF_DELTA } else { 0 });
                let (mut prev, mut prev_delta) = (0i64, 0i64);
                for &s in values {
                    let delta = s.wrapping_sub(prev);
                    let stored = if second_differences { delta.wrapping_sub(prev_delta) } else { delta };
                    put_varint(out, zigzag(stored));
                    (prev, prev_delta) = (s, delta);
                }
            }
            Column::Raw(values) => {
                out.push(RAW_F64_TAG);
                for &v in *values {
                    out.extend_from_slice(&v.to_bits().to_le_bytes());
                }
            }
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let end =
            self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or(CodecError::Corrupt("column ends early"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, CodecError> {
        Ok(self.bytes(1)?[0])
    }

    fn varint(&mut self) -> Result<u64, CodecError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(CodecError::Corrupt("varint longer than 64 bits"))
    }

    /// A sample count, bounded by what the remaining bytes could possibly hold.
    fn length(&mut self) -> Result<usize, CodecError> {
        let n = self.varint()?;
        if n > (self.buf.len() as u64) * 8 {
            return Err(CodecError::Corrupt("sample count larger than the data"));
        }
        Ok(n as usize)
    }

    fn f64_column(&mut self, len: usize) -> Result<Vec<f64>, CodecError> {
        let tag = self.byte()?;
        let mut out = Vec::with_capacity(len.min(self.buf.len()));
        if tag == RAW_F64_TAG {
            for _ in 0..len {
                out.push(f64::from_bits(u64::from_le_bytes(self.bytes(8)?.try_into().expect("8 bytes"))));
            }
        } else if i32::from(tag & !DELTA_OF_DELTA) <= MAX_DECIMALS {
            let p = 10f64.powi(i32::from(tag & !DELTA_OF_DELTA));
            let (mut prev, mut delta) = (0i64, 0i64);
            let second = tag & DELTA_OF_DELTA != 0;
            for _ in 0..len {
                let stored = unzigzag(self.varint()?);
                delta = if second { delta.wrapping_add(stored) } else { stored };
                prev = prev.wrapping_add(delta);
                out.push(prev as f64 / p);
            }
        } else {
            return Err(CodecError::Corrupt("unknown column encoding"));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> StreamSet {
        let mut s = StreamSet::default()
            .with(NumericKey::Time, (0..500).map(f64::from).collect())
            .with(NumericKey::Watts, (0..500).map(|i| f64::from(i % 300)).collect())
            .with(NumericKey::GradeSmooth, (0..500).map(|i| f64::from(i) * -0.1).collect())
            .with(NumericKey::VelocitySmooth, (0..500).map(|i| (f64::from(i) * 0.37).sin() * 3.0 + 5.0).collect());
        s.latlng = Some((0..500).map(|i| [10.0 + f64::from(i) * 1e-6, -30.000_123]).collect());
        s.moving = Some((0..500).map(|i| i % 3 != 0).collect());
        s
    }

    #[test]
    fn round_trip_is_exact_for_every_stream_type() {
        let s = sample();
        let chunks = encode_chunks(&s).unwrap();
        assert_eq!(chunks.len(), 1);
        assert_eq!(decode_chunks(&chunks).unwrap(), s);
    }

    #[test]
    fn empty_set_round_trips() {
        let chunks = encode_chunks(&StreamSet::default()).unwrap();
        assert_eq!(decode_chunks(&chunks).unwrap(), StreamSet::default());
    }

    #[test]
    fn chunk_boundaries_and_any_order() {
        let s = sample();
        let mut chunks = encode_chunks_sized(&s, 97).unwrap();
        assert!(chunks.len() > 3);
        assert!(chunks.iter().all(|c| c.len() <= 97 + HEADER_BYTES));
        chunks.reverse();
        assert_eq!(decode_chunks(&chunks).unwrap(), s);
    }

    #[test]
    fn missing_duplicate_truncated_and_corrupt_chunks_are_reported() {
        let chunks = encode_chunks_sized(&sample(), 97).unwrap();
        let n = chunks.len() as u16;

        let missing: Vec<_> = chunks.iter().enumerate().filter(|(i, _)| *i != 2).map(|(_, c)| c.clone()).collect();
        assert_eq!(decode_chunks(&missing), Err(CodecError::MissingChunk { index: 2, count: n }));

        let mut dup = chunks.clone();
        dup[1] = dup[0].clone();
        assert_eq!(decode_chunks(&dup), Err(CodecError::DuplicateChunk { index: 0 }));

        let mut truncated = chunks.clone();
        let last = truncated.last_mut().unwrap();
        last.truncate(last.len() - 1);
        assert!(matches!(decode_chunks(&truncated), Err(CodecError::Truncated { .. })));

        let mut corrupt = chunks.clone();
        corrupt[1][HEADER_BYTES + 3] ^= 0x55;
        assert_eq!(decode_chunks(&corrupt), Err(CodecError::Checksum));

        let short = vec![chunks[0][..10].to_vec()];
        assert_eq!(decode_chunks(&short), Err(CodecError::TruncatedHeader { index: 0, len: 10 }));

        let mut foreign = chunks.clone();
        foreign[0][0] = b'X';
        assert_eq!(decode_chunks(&foreign), Err(CodecError::BadMagic { index: 0 }));

        let none: Vec<Vec<u8>> = vec![];
        assert_eq!(decode_chunks(&none), Err(CodecError::NoChunks));
    }

    #[test]
    fn future_format_version_is_refused() {
        let mut chunks = encode_chunks(&sample()).unwrap();
        chunks[0][3] = FORMAT_VERSION + 1;
        assert_eq!(
            decode_chunks(&chunks),
            Err(CodecError::UnsupportedVersion { index: 0, found: FORMAT_VERSION + 1, supported: FORMAT_VERSION })
        );
    }

    #[test]
    fn corrupt_columns_with_a_valid_checksum_are_reported() {
        // A blob that decompresses fine but whose columns are garbage.
        let blob = zstd::bulk::compress(b"SSC\x01\x05\x00", 3).unwrap();
        let mut chunk = Vec::new();
        chunk.extend_from_slice(CHUNK_MAGIC);
        chunk.push(FORMAT_VERSION);
        chunk.extend_from_slice(&0u16.to_le_bytes());
        chunk.extend_from_slice(&1u16.to_le_bytes());
        chunk.extend_from_slice(&(blob.len() as u32).to_le_bytes());
        chunk.extend_from_slice(&fnv1a64(&blob).to_le_bytes());
        chunk.extend_from_slice(&blob);
        assert!(matches!(decode_chunks(&[chunk]), Err(CodecError::Corrupt(_))));
    }

    #[test]
    fn values_without_a_short_decimal_form_use_raw_bits() {
        let s = StreamSet::default().with(NumericKey::Altitude, vec![0.1 + 0.2, -0.0, f64::MAX, 1e-300]);
        assert_eq!(decode_chunks(&encode_chunks(&s).unwrap()).unwrap(), s);
    }

    fn arb_f64() -> impl Strategy<Value = f64> {
        prop_oneof![
            (-100_000i64..100_000).prop_map(|v| v as f64),
            (-10_000_000i64..10_000_000).prop_map(|v| v as f64 / 1000.0),
            (-90_000_000i64..90_000_000).prop_map(|v| v as f64 / 1e6),
            any::<f64>().prop_filter("finite", |v| v.is_finite()),
        ]
    }

    proptest! {
        #[test]
        fn random_sets_round_trip_exactly(
            n in 0usize..300,
            keys in proptest::collection::vec(any::<bool>(), 9),
            seed_cols in proptest::collection::vec(proptest::collection::vec(arb_f64(), 300), 11),
            moving in proptest::collection::vec(any::<bool>(), 300),
            with_latlng in any::<bool>(),
            with_moving in any::<bool>(),
            chunk in 16usize..4096,
        ) {
            let mut s = StreamSet::default();
            for (i, key) in NumericKey::ALL.into_iter().enumerate() {
                if keys[i] {
                    s.set(key, Some(seed_cols[i][..n].to_vec()));
                }
            }
            if with_latlng {
                s.latlng = Some((0..n).map(|i| [seed_cols[9][i], seed_cols[10][i]]).collect());
            }
            if with_moving {
                s.moving = Some(moving[..n].to_vec());
            }
            let chunks = encode_chunks_sized(&s, chunk).unwrap();
            let back = decode_chunks(&chunks).unwrap();
            // Compare bits, so -0.0 and 0.0 count as different.
            prop_assert_eq!(format!("{:?}", bits(&back)), format!("{:?}", bits(&s)));
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut chunk = b"SSK\x01".to_vec();
            chunk.extend(bytes);
            let _ = decode_chunks(&[chunk]);
        }
    }

    fn bits(s: &StreamSet) -> Vec<Vec<u64>> {
        let mut out: Vec<Vec<u64>> = NumericKey::ALL
            .into_iter()
            .filter_map(|k| s.get(k))
            .map(|d| d.iter().map(|v| v.to_bits()).collect())
            .collect();
        if let Some(l) = &s.latlng {
            out.push(l.iter().flat_map(|p| [p[0].to_bits(), p[1].to_bits()]).collect());
        }
        if let Some(m) = &s.moving {
            out.push(m.iter().map(|&b| u64::from(b)).collect());
        }
        out
    }
}
