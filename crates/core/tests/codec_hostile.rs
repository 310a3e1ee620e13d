//! Corrupt and hostile stream chunks decode to an error with bounded memory.
//!
//! A counting global allocator records the peak number of bytes live during each decode.
//! Lengths in a header are checked against the payload before anything is reserved: a
//! flipped bit in a blob length could otherwise ask for gigabytes, and an inflated blob
//! is never reserved at its worst-case size.
//! One test function in a test binary of its own: the allocator counts the whole process.
//! (Its own copy of the counting allocator: `stravasync_testkit::alloc` sits above `core`.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use stravasync_core::codec::{MAX_RAW_BYTES, decode_chunks, encode_chunks_sized};
use stravasync_core::hash::fnv1a64;
use stravasync_core::streams::{NumericKey, StreamSet};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(now, Ordering::SeqCst);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Bytes allocated beyond what was live before, at the peak of `f`.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let out = f();
    (out, PEAK.load(Ordering::SeqCst) - base)
}

/// A ride with irregular (pseudo-random) power, so that it does not compress to nothing.
fn ride(samples: usize) -> StreamSet {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut noise = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % 400) as f64
    };
    StreamSet::default()
        .with(NumericKey::Time, (0..samples).map(|i| i as f64).collect())
        .with(NumericKey::Watts, (0..samples).map(|_| noise()).collect())
        .with(NumericKey::Heartrate, (0..samples).map(|i| 120.0 + (i % 50) as f64).collect())
}

/// A zstd frame that states `claimed` bytes of content and holds 5 raw bytes.
fn lying_frame(claimed: u64) -> Vec<u8> {
    let mut f = vec![0x28, 0xB5, 0x2F, 0xFD];
    f.push(0b1110_0000); // 8-byte content size, single segment, no checksum, no dictionary
    f.extend_from_slice(&claimed.to_le_bytes());
    let block_header: u32 = 1 | (5 << 3); // last block, raw, 5 bytes
    f.extend_from_slice(&block_header.to_le_bytes()[..3]);
    f.extend_from_slice(b"hello");
    f
}

/// One chunk of format `version` around `blob`, with a correct length and checksum.
fn chunk_of(version: u8, blob: &[u8]) -> Vec<u8> {
    let mut c = b"SSK".to_vec();
    c.push(version);
    c.extend_from_slice(&0u16.to_le_bytes());
    c.extend_from_slice(&1u16.to_le_bytes());
    c.extend_from_slice(&(blob.len() as u32).to_le_bytes());
    c.extend_from_slice(&fnv1a64(blob).to_le_bytes());
    c.extend_from_slice(blob);
    c
}

#[test]
fn corrupt_and_hostile_chunks_fail_with_bounded_memory() {
    let set = ride(4_000);
    let chunks = encode_chunks_sized(&set, 1024).unwrap();
    assert!(chunks.len() > 1);
    let input: usize = chunks.iter().map(Vec::len).sum();
    let (ok, honest_peak) = peak_during(|| decode_chunks(&chunks));
    assert_eq!(ok.unwrap(), set);
    // Decoding real data needs the blob, the raw columns and the decoded set: a few
    // hundred KB here. Every corrupt case below must stay within the same bound.
    let bound = honest_peak.max(input * 4) + 64 * 1024;

    // Every single-bit flip of every header field of every chunk.
    let mut flips = 0;
    for c in 0..chunks.len() {
        for byte in 0..20 {
            for bit in 0..8 {
                let mut bad = chunks.clone();
                bad[c][byte] ^= 1 << bit;
                let (result, peak) = peak_during(|| decode_chunks(&bad));
                assert!(peak <= bound, "chunk {c} byte {byte} bit {bit}: {peak} bytes (bound {bound})");
                // A flip in the version byte to an older version, or in a checksum that all
                // chunks share, can still decode or fail; a flip in a length never succeeds.
                if (8..12).contains(&byte) {
                    assert!(result.is_err(), "chunk {c} blob length bit {bit} flipped was accepted");
                }
                flips += 1;
            }
        }
    }
    assert_eq!(flips, chunks.len() * 160);

    // The largest length a header can state, on a one-chunk set.
    let mut huge = chunks[..1].to_vec();
    huge[0][6..8].copy_from_slice(&1u16.to_le_bytes());
    huge[0][8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    let (result, peak) = peak_during(|| decode_chunks(&huge));
    assert!(result.is_err());
    assert!(peak <= bound, "{peak}");

    // A well-formed chunk whose zstd frame lies about its size: over the cap, and under the
    // cap but far beyond what its bytes could hold.
    // Format 1 (the blob is the frame) and format 2 (one frame, or a frame per column).
    for claimed in [u64::MAX / 2, MAX_RAW_BYTES as u64 + 1, 8 * 1024 * 1024] {
        let frame = lying_frame(claimed);
        let one = [&[0u8][..], &frame].concat();
        let framed = {
            // packing 1, two frames, both lying.
            let mut b = vec![1u8, 2, frame.len() as u8];
            b.extend_from_slice(&frame);
            b.push(frame.len() as u8);
            b.extend_from_slice(&frame);
            b
        };
        for chunk in [chunk_of(1, &frame), chunk_of(2, &one), chunk_of(2, &framed)] {
            let (result, peak) = peak_during(|| decode_chunks(&[chunk]));
            let e = result.unwrap_err().to_string();
            assert!(e.contains("over the limit"), "{claimed}: {e}");
            assert!(peak < 64 * 1024, "{claimed}: {peak} bytes");
        }
    }
    // A format 2 blob with an unknown packing, a frame length past the end, bytes after
    // the last frame.
    for blob in [vec![7u8, 0], vec![1u8, 1, 200, 1, 2], vec![1u8, 0, 9]] {
        let e = decode_chunks(&[chunk_of(2, &blob)]).unwrap_err();
        assert!(matches!(e, stravasync_core::codec::CodecError::Corrupt(_)), "{blob:?}: {e}");
    }
}
