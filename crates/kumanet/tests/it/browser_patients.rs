//! The browser story of patients, consent and groups lands with the next commit.
