"""What a person touches: the Textual console and the command-line interface."""
