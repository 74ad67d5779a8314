//! Networks with hand-written forward and backward passes on one flat θ_D.
