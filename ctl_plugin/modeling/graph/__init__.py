from .context_block import ContextBlock
from .cross_scale import CrossScaleGraphConv
from .ctl_graph import CTLGraph
from .fusion import FusionBlock
from .graph_conv3d import GraphConvLayer
from .part_features import PartFeatures
