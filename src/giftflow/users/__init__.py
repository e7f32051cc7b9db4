"""Users as the platform describes them: region, age, followers, KYC status."""
