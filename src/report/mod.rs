//! What `ldprune report` adds to the analysis and Run-2's results: the
//! image as a whole ([`image`], compressed by [`compress`]) and the page
//! ([`html`]).

pub mod compress;
pub mod html;
pub mod image;
pub mod kept;
