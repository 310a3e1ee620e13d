//! The stream codec against the shared recordings and chunks of earlier formats. Hostile
//! bytes are decoded in `tests/codec_hostile.rs`, a binary of its own because its counting
//! allocator measures the whole process.

mod codec_fixtures;
