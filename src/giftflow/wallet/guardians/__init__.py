"""Guardian links: a guardian lowers a ward's cap or turns purchases off."""
