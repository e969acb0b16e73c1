using System;
using System.Globalization;
using System.Threading;
using BatchNorm.Distributed;
using BatchNorm.Mpi;
using DistributedTraining;

// Data-parallel training with synchronized batch norm: every replica trains on its own shard of each mini-batch.
//   over MPI:      mpiexec.mpich -n 2 dotnet samples/DistributedTraining/bin/Release/net10.0/DistributedTraining.dll
//   on threads:    dotnet run -c Release --project samples/DistributedTraining -- --threads 4
if (args.Length == 2 && args[0] == "--threads")
{
    int replicas = int.Parse(args[1], CultureInfo.InvariantCulture);
    using var group = new InProcessCommunicatorGroup(replicas);
    var threads = new Thread[replicas];
    for (int r = 0; r < replicas; r++)
    {
        InProcessCommunicator communicator = group.Communicators[r];
        threads[r] = new Thread(() =>
        {
            try
            {
                Replica.Train(communicator);
            }
            catch
            {
                group.Abort(); // release the peers waiting for this replica in a collective
                throw;
            }
        });
        threads[r].Start();
    }

    foreach (Thread thread in threads)
    {
        thread.Join();
    }

    return 0;
}

// One process per replica; an unhandled exception aborts the whole MPI job rather than hanging the peers.
using MpiEnvironment mpi = MpiEnvironment.Initialize();
Replica.Train(mpi.World);
return 0;
