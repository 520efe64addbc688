using Akka.Actor;
using Akka.Configuration;

namespace BitActors.Actors.Hosting;

/// <summary>The one place where the actor system is created from the configuration.</summary>
public static class BitActorsSystem
{
    public static ActorSystem Create(Config config, string name = "bitactors") => ActorSystem.Create(name, config);
}
