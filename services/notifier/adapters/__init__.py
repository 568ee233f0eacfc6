"""The notifier's Redis reads outside FastStream: a buyer's stream, and where readers start."""
