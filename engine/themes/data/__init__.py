"""Built-in theme files (TOML); a package only so that wheels ship them as package data."""
