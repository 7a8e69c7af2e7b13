//! Encoders: return the feature stages the decoders consume.

pub mod efficientnet;
