//! S3's REST-XML protocol (being written): for now only [`body`].

// Until the S3 adapter calls into `body`.
#![allow(dead_code)]

pub mod body;
