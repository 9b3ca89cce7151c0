"""The numbers: model, data, training, curves and their fits, the landscape along paths, sharpness,
planes and alignment. Everything here runs on torch tensors on the job's device."""
