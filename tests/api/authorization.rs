//! The authorization matrix (SPEC §2, §7): principals x stages x operations, against an
//! oracle written here from the spec, independent of the server's rule code.
