from .diversity import diversity_loss
