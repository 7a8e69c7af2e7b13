//! One module per `cargo xtask` command.
