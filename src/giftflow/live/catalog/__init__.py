"""The gift catalog: gifts, their prices, images, tiers, windows and regions."""
