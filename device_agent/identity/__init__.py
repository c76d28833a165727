"""Who walked in: BlazeFace faces, dlib face descriptors, a member gallery, visit decisions, clothing colours."""
