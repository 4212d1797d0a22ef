// Anchor of the precompiled LibTorch header the TORCH fuzz targets reuse.
