//! The HTTP surface: API, health, and later sign-on and the admin dashboard.
