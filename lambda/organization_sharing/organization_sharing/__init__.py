"""Custom::RamSharingWithOrganization: enable RAM sharing with AWS Organizations, once."""
