"""Video on screen: frames pulled on a timer, converted once per new frame, painted 1:1."""
