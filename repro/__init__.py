"""repro: an executable reproduction of Palacio et al., "What do Deep Networks Like to See?" (CVPR 2018)."""

__version__ = "0.1.0"
