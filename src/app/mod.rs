//! One module per command: argument parsing, wiring and exit statuses. Only here are files,
//! standard input and the environment read.

pub mod operator;
pub mod read;

/// Exit statuses shared by the commands.
pub mod exit {
    pub const OK: i32 = 0;
    pub const FAILURE: i32 = 1;
    pub const INVALID_INPUT: i32 = 2;
    pub const CANNOT_CONNECT: i32 = 3;
    pub const REFUSED: i32 = 4;
    pub const ACCESS_ERROR: i32 = 5;
}
