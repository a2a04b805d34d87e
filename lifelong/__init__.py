"""lifelong: agents that keep learning in simulated worlds (Voyager for Minecraft, Eureka for MuJoCo).

The generic loop (propose -> write -> verify -> store) lives in :mod:`lifelong.loop`; each world
plugs in its own curriculum, writer and verifier (:mod:`lifelong.minecraft`, :mod:`lifelong.robotics`);
verified skills land in :mod:`lifelong.library`.
"""

__version__ = "0.1.0"
