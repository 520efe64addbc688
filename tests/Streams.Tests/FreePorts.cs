using System.Net;
using System.Net.Sockets;

namespace BitActors.Streams.Tests;

/// <summary>Loopback ports free right now, for tests that start servers or cluster nodes on fixed ports.</summary>
public static class FreePorts
{
    /// <summary><paramref name="count"/> distinct free ports, lowest first (all listeners are open at once, so they differ).</summary>
    public static int[] Take(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        foreach (var listener in listeners) listener.Start();
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).Order().ToArray();
        foreach (var listener in listeners) listener.Stop();
        return ports;
    }

    public static int One() => Take(1)[0];
}
