"""Studies: the paper's ablations, what is measured on trained networks, and speed.

* sweeps -- the paper's studies (m, a, r, pulse shape, states, special cases), one run per
  point;
* compare -- several runs side by side (table and plot);
* trained -- a run's trained network loaded for analysis;
* resting -- zero weights, zero inputs and the resting probability per layer;
* bitplanes, bitwise -- gated-XNOR arithmetic on bit planes, and a trained network run
  with it (checked against the float pass);
* bench -- the speed of the kernels on the released nets (``make bench``).
"""
