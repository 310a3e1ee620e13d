//! The stream codec against the shared recordings and chunks of earlier formats, and §6b's
//! models against the expected outputs for them. Hostile bytes are decoded in
//! `tests/codec_hostile.rs`, a binary of its own because its counting allocator measures
//! the whole process.

mod codec_fixtures;
mod science_fixtures;
