using Akka.Http.Dsl;
using HttpStatusCode = Ceen.HttpStatusCode;
using Akka.Management.Dsl;
using AkkaCluster = Akka.Cluster.Cluster;
using MemberStatus = Akka.Cluster.MemberStatus;

namespace BitActors.Actors.Cluster;

/// <summary>
/// Health routes on the management endpoint, for Kubernetes' probes (Akka.Management for .NET has none of its own):
/// <c>/alive</c> answers 200 while the actor system runs; <c>/ready</c> answers 200 once this node is an Up member of the
/// cluster, 503 before (joining) and after (leaving). Registered under <c>akka.management.http.routes</c>.
/// </summary>
public sealed class HealthRoutes : IManagementRouteProvider
{
    public (string, HttpModuleBase)[] Routes(ManagementRouteProviderSettings settings) => [("/alive", new Alive()), ("/ready", new Ready())];

    private sealed class Alive : HttpModuleBase
    {
        public override Task<bool> HandleAsync(IAkkaHttpContext context) =>
            Answer(context, context.ActorSystem.WhenTerminated.IsCompleted ? HttpStatusCode.ServiceUnavailable : HttpStatusCode.OK, "alive");
    }

    private sealed class Ready : HttpModuleBase
    {
        public override Task<bool> HandleAsync(IAkkaHttpContext context)
        {
            var status = AkkaCluster.Get(context.ActorSystem).SelfMember.Status;
            return Answer(context, status == MemberStatus.Up ? HttpStatusCode.OK : HttpStatusCode.ServiceUnavailable, $"member {status}");
        }
    }

    private static async Task<bool> Answer(IAkkaHttpContext context, HttpStatusCode code, string text)
    {
        context.HttpContext.Response.StatusCode = code;
        await context.HttpContext.Response.WriteAllAsync(text + "\n", "text/plain; charset=utf-8");
        return true;
    }
}
