//! Reserved concurrency (`PutFunctionConcurrency` and friends), on the
//! control plane: stored, then applied to the gate.

use crate::error::{Error, Result};
use crate::registry::Registry;

impl Registry {
    /// Reserves `reserved` concurrent executions for the function (all its
    /// versions): its floor and its cap. 0 throttles every call.
    pub async fn put_function_concurrency(
        &self,
        function_name: &str,
        reserved: i32,
    ) -> Result<u32> {
        let target = self.resolve(function_name, "")?;
        if self.store.get_function(&target.name)?.is_none() {
            return Err(self.not_found(&target));
        }
        let reserved = u32::try_from(reserved).map_err(|_| {
            Error::InvalidParameterValue(format!(
                "ReservedConcurrentExecutions {reserved} is out of range: it must be 0 or more"
            ))
        })?;
        let _code = self.code_lock.lock().await;
        self.gate
            .set_reserved(&target.name, Some(reserved))
            .map_err(Error::InvalidParameterValue)?;
        self.store
            .set_reserved_concurrency(&target.name, Some(reserved))?;
        self.store.flush_async().await?;
        Ok(reserved)
    }

    /// The function's reserved concurrency, if it has one.
    pub fn get_function_concurrency(&self, function_name: &str) -> Result<Option<u32>> {
        let target = self.resolve(function_name, "")?;
        if self.store.get_function(&target.name)?.is_none() {
            return Err(self.not_found(&target));
        }
        Ok(self.gate.reserved(&target.name))
    }

    pub async fn delete_function_concurrency(&self, function_name: &str) -> Result<()> {
        let target = self.resolve(function_name, "")?;
        if self.store.get_function(&target.name)?.is_none() {
            return Err(self.not_found(&target));
        }
        let _code = self.code_lock.lock().await;
        self.store.set_reserved_concurrency(&target.name, None)?;
        self.gate
            .set_reserved(&target.name, None)
            .map_err(Error::InvalidParameterValue)?;
        self.store.flush_async().await?;
        Ok(())
    }

    /// The account's limit and what is left unreserved.
    pub fn account_usage(&self) -> crate::concurrency::Usage {
        self.gate.usage()
    }
}
